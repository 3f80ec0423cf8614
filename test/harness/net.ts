// A free TCP port on 127.0.0.1 (listen on 0, read the port, close), for servers a test starts itself.
import { createServer } from "node:net";

export const freePort = () => new Promise<number>((resolve, reject) => {
  const s = createServer().once("error", reject).listen(0, "127.0.0.1", () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});
