/**
 * The SASL entry for the connection layer: `saslMechanism(config)` turns the `sasl` option (KafkaJS-style
 * `{ mechanism, ... }`, mechanism names case-insensitive, or a ready SaslMechanism) into a mechanism.
 */
import { ClientError } from "../../errors.ts";
import type { SaslMechanism } from "./mechanism.ts";
import { type MskIamOptions, mskIam } from "./msk-iam.ts";
import { type OAuthBearerOptions, oauthBearer } from "./oauthbearer.ts";
import { plain } from "./plain.ts";
import { type ScramOptions, scramSha256, scramSha512 } from "./scram.ts";

export type SaslConfig =
  | SaslMechanism
  | ({ mechanism: "plain" | "PLAIN" } & { username: string; password: string })
  | ({ mechanism: "scram-sha-256" | "SCRAM-SHA-256" | "scram-sha-512" | "SCRAM-SHA-512" } & ScramOptions)
  | ({ mechanism: "oauthbearer" | "OAUTHBEARER" } & OAuthBearerOptions)
  | ({ mechanism: "aws-msk-iam" | "AWS-MSK-IAM" } & MskIamOptions);

export function saslMechanism(config: SaslConfig): SaslMechanism {
  if (config && typeof (config as SaslMechanism).client === "function") return config as SaslMechanism;
  const name = typeof config?.mechanism === "string" ? config.mechanism.toLowerCase() : "";
  const c = config as any;
  switch (name) {
    case "plain": return plain(c);
    case "scram-sha-256": return scramSha256(c);
    case "scram-sha-512": return scramSha512(c);
    case "oauthbearer": return oauthBearer(c);
    case "aws-msk-iam": return mskIam(c);
  }
  throw new ClientError("INVALID_CONFIG",
    `Invalid sasl mechanism ${JSON.stringify(config?.mechanism)}: expected plain, scram-sha-256, scram-sha-512, oauthbearer or aws-msk-iam`);
}

export { authenticate, checkHandshake, type SaslClient, type SaslContext, type SaslMechanism, type SaslResult, type SaslSend } from "./mechanism.ts";
export { plain } from "./plain.ts";
export { scramSha256, scramSha512 } from "./scram.ts";
export { oauthBearer, type OAuthBearerToken, type OAuthBearerTokenProvider } from "./oauthbearer.ts";
export { mskIam, mskIamToken, type AwsCredentials } from "./msk-iam.ts";
