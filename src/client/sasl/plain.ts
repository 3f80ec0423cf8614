/**
 * SASL PLAIN (RFC 4616): one message `authzid NUL authcid NUL passwd`, with an empty authzid as Kafka's
 * PlainSaslServer expects. The password crosses the wire as is: use it over TLS only.
 */
import { ClientError } from "../../errors.ts";
import { utf8 } from "./bytes.ts";
import { checkCredentials, type UsernamePassword } from "./credentials.ts";
import { describeAs, type SaslClient, type SaslMechanism } from "./mechanism.ts";

export class PlainMechanism implements SaslMechanism {
  readonly mechanism = "PLAIN";
  readonly username: string;
  readonly #password: string;

  constructor(options: UsernamePassword) {
    checkCredentials("PLAIN", options);
    // NUL separates the fields; one inside a field would shift them (RFC 4616 forbids it).
    if (options.username.includes("\0") || options.password.includes("\0")) {
      throw new ClientError("INVALID_CONFIG", "Invalid sasl PLAIN credentials: username and password cannot contain NUL (U+0000)");
    }
    this.username = options.username;
    this.#password = options.password;
    describeAs(this, this.mechanism, { username: this.username });
  }

  client(): SaslClient {
    const message = utf8(`\0${this.username}\0${this.#password}`);
    return {
      start: async () => message,
      next: async () => null, // Kafka answers PLAIN with empty bytes: nothing more to say
    };
  }
}

/** SASL PLAIN with the given username and password. */
export const plain = (options: UsernamePassword): SaslMechanism => new PlainMechanism(options);
