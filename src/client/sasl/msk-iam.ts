/**
 * AWS MSK IAM authentication over OAUTHBEARER, without the AWS SDK: the token is what
 * aws-msk-iam-sasl-signer's generateAuthToken produces, a SigV4-presigned
 *
 *   https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-…&X-Amz-Signature=…&User-Agent=…
 *
 * (service "kafka-cluster", X-Amz-Expires 900, host the only signed header, empty-body payload hash; the
 * User-Agent parameter is added after signing), encoded as base64url without padding. The broker checks
 * the signature with the caller's IAM identity. Credentials are the caller's to obtain (environment,
 * STS, a worker secret); they stay in `#private` fields and out of every error and printed form.
 */
import { ClientError } from "../../errors.ts";
import { toBase64Url, utf8 } from "./bytes.ts";
import { describeAs, type SaslClient, type SaslContext, type SaslMechanism } from "./mechanism.ts";
import { OAuthBearerMechanism, type OAuthBearerToken } from "./oauthbearer.ts";
import { type AwsCredentials, presign, uriEncode } from "./sigv4.ts";

export type { AwsCredentials } from "./sigv4.ts";

/** How long a token is valid, as the AWS signers set it. */
export const MSK_TOKEN_EXPIRES_SECONDS = 900;

export interface MskIamTokenOptions {
  /** The cluster's AWS region, e.g. "eu-west-1". */
  region: string;
  credentials: AwsCredentials;
  /** Signing time in ms since the epoch. */
  now: number;
  /** The User-Agent query parameter [kafkasm]. */
  userAgent?: string;
}

function checkRegion(region: unknown): asserts region is string {
  // A region is a host label (us-east-1, cn-north-1, us-gov-west-1); anything else would change the signed host.
  if (typeof region !== "string" || !/^[a-z0-9-]{1,63}$/.test(region)) {
    throw new ClientError("INVALID_CONFIG", `Invalid MSK IAM region ${JSON.stringify(region)}: expected an AWS region such as "us-east-1"`);
  }
}

function checkCredentials(c: AwsCredentials | undefined): void {
  if (!c || typeof c.accessKeyId !== "string" || c.accessKeyId === "" || typeof c.secretAccessKey !== "string" || c.secretAccessKey === "") {
    throw new ClientError("INVALID_CONFIG", "Invalid MSK IAM credentials: expected { accessKeyId, secretAccessKey, sessionToken? } with non-empty strings");
  }
  if (c.sessionToken !== undefined && typeof c.sessionToken !== "string") {
    throw new ClientError("INVALID_CONFIG", "Invalid MSK IAM credentials: sessionToken must be a string");
  }
}

/** The MSK IAM OAUTHBEARER token for `options.credentials`, valid 900 s from `options.now`. */
export async function mskIamToken(options: MskIamTokenOptions): Promise<OAuthBearerToken & { expiresAt: number }> {
  checkRegion(options.region);
  checkCredentials(options.credentials);
  const host = `kafka.${options.region}.amazonaws.com`;
  const signed = await presign({
    method: "GET", host, path: "/", query: { Action: "kafka-cluster:Connect" },
    region: options.region, service: "kafka-cluster", credentials: options.credentials,
    date: options.now, expiresSeconds: MSK_TOKEN_EXPIRES_SECONDS,
  });
  const url = `https://${host}/?${signed.query}&User-Agent=${uriEncode(options.userAgent ?? "kafkasm")}`;
  const signedAt = Math.floor(options.now / 1000) * 1000;
  return { value: toBase64Url(utf8(url)), expiresAt: signedAt + MSK_TOKEN_EXPIRES_SECONDS * 1000 };
}

export interface MskIamOptions {
  region: string;
  /** Fixed credentials, or a function returning fresh ones (temporary credentials rotate). */
  credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  /** The clock used for signing and token refresh [Date.now]. */
  now?: () => number;
  userAgent?: string;
}

export class MskIamMechanism implements SaslMechanism {
  readonly mechanism = "OAUTHBEARER";
  readonly region: string;
  readonly #oauth: OAuthBearerMechanism;

  constructor(options: MskIamOptions) {
    checkRegion(options?.region);
    const source = options.credentials;
    if (typeof source !== "function") checkCredentials(source);
    const now = options.now ?? (() => Date.now());
    this.region = options.region;
    this.#oauth = new OAuthBearerMechanism({
      now,
      token: async () => mskIamToken({
        region: options.region, now: now(), userAgent: options.userAgent,
        credentials: typeof source === "function" ? await source() : source,
      }),
    });
    describeAs(this, "OAUTHBEARER (AWS MSK IAM)", { region: this.region });
  }

  client(context: SaslContext): SaslClient {
    return this.#oauth.client(context);
  }
}

/** AWS MSK IAM through OAUTHBEARER: tokens signed with `options.credentials`, refreshed before they expire. */
export const mskIam = (options: MskIamOptions): SaslMechanism => new MskIamMechanism(options);
