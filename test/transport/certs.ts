// Test certificates made with openssl in a temp dir: a CA, a broker certificate for 127.0.0.1 and
// localhost (or other names), a client certificate for mutual TLS, and a second CA nobody trusts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pki {
  dir: string;
  /** PEM of the CA that signed the broker and client certificates; `caFile` is its path. */
  ca: string;
  caFile: string;
  /** A CA that signed nothing here: trusting only it must fail. */
  otherCa: string;
  otherCaFile: string;
  broker: { cert: string; key: string; certFile: string; keyFile: string; /** key then cert: Kafka's PEM keystore */ pemFile: string };
  client: { cert: string; key: string; certFile: string; keyFile: string };
  /** A certificate for `wrong.example` only, signed by the CA (hostname mismatch). */
  wrongHost: { cert: string; key: string; pemFile: string };
  remove(): void;
}

const openssl = (dir: string, args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });

function signed(dir: string, name: string, subject: string, ext: string): void {
  openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-sha256", "-extfile", `${name}.ext`]);
}

/** Makes a fresh PKI (about a second of openssl). Call `remove()` when done. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-pki-"));
  const ca = (name: string, cn: string) => openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=${cn}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  ca("ca", "kafkasm test CA");
  ca("other-ca", "kafkasm untrusted CA");
  signed(dir, "broker", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  signed(dir, "client", "/CN=kafkasm-client", "extendedKeyUsage=clientAuth\n");
  signed(dir, "wrong", "/CN=wrong.example", "subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\n");
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  writeFileSync(join(dir, "broker.pem"), read("broker.key") + read("broker.crt"));
  writeFileSync(join(dir, "wrong.pem"), read("wrong.key") + read("wrong.crt"));
  return {
    dir,
    ca: read("ca.crt"), caFile: join(dir, "ca.crt"),
    otherCa: read("other-ca.crt"), otherCaFile: join(dir, "other-ca.crt"),
    broker: { cert: read("broker.crt"), key: read("broker.key"), certFile: join(dir, "broker.crt"), keyFile: join(dir, "broker.key"), pemFile: join(dir, "broker.pem") },
    client: { cert: read("client.crt"), key: read("client.key"), certFile: join(dir, "client.crt"), keyFile: join(dir, "client.key") },
    wrongHost: { cert: read("wrong.crt"), key: read("wrong.key"), pemFile: join(dir, "wrong.pem") },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Broker properties for an SSL-speaking listener `name` (lower-case in Kafka's keys) with PEM files. */
export function sslListenerProperties(pki: Pki, name: string, opts: { clientAuth?: boolean; pemFile?: string } = {}): Record<string, string> {
  const l = `listener.name.${name.toLowerCase()}.`;
  return {
    [`${l}ssl.keystore.type`]: "PEM",
    [`${l}ssl.keystore.location`]: opts.pemFile ?? pki.broker.pemFile,
    [`${l}ssl.truststore.type`]: "PEM",
    [`${l}ssl.truststore.location`]: pki.caFile,
    [`${l}ssl.client.auth`]: opts.clientAuth ? "required" : "none",
    [`${l}ssl.endpoint.identification.algorithm`]: "",
  };
}
