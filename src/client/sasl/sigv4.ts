/**
 * AWS Signature Version 4 query-string presigning (the "presigned URL" form), on WebCrypto only. Enough
 * for the MSK IAM token: GET, headers signed = host (plus any given), a hex payload hash.
 * See the AWS docs "Authenticating Requests: Using Query Parameters" for the canonical request layout.
 */
import { digest, hmac, toHex, utf8 } from "./bytes.ts";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials' session token (STS), signed as X-Amz-Security-Token. */
  sessionToken?: string;
}

export interface PresignRequest {
  method: string;
  host: string;
  /** The URI path, e.g. "/" or "/test.txt"; each segment is URI-encoded once (as S3 and MSK expect). */
  path: string;
  /** Query parameters other than the X-Amz-* ones added here. */
  query: Record<string, string>;
  /** Headers signed besides host (lower-cased names). */
  headers?: Record<string, string>;
  region: string;
  service: string;
  credentials: AwsCredentials;
  /** Signing time in ms since the epoch (whole seconds are used). */
  date: number;
  expiresSeconds: number;
  /** Hex SHA-256 of the payload, or "UNSIGNED-PAYLOAD" (S3); default: the hash of an empty body. */
  payloadHash?: string;
}

export interface Presigned {
  /** The canonical query string with X-Amz-Signature appended: what goes after `?`. */
  query: string;
  signature: string;
  canonicalRequest: string;
  stringToSign: string;
}

/** SHA-256 of the empty string, the payload hash of a GET without a body. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** RFC 3986 percent-encoding of everything but unreserved characters (SigV4's UriEncode). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** 20130524T000000Z */
export function amzDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

async function signingKey(secret: string, day: string, region: string, service: string): Promise<Uint8Array> {
  const kDate = await hmac("SHA-256", utf8(`AWS4${secret}`), utf8(day));
  const kRegion = await hmac("SHA-256", kDate, utf8(region));
  const kService = await hmac("SHA-256", kRegion, utf8(service));
  return hmac("SHA-256", kService, utf8("aws4_request"));
}

/** Presigns `req`: the canonical request, the string to sign, the signature and the final query string. */
export async function presign(req: PresignRequest): Promise<Presigned> {
  const date = amzDate(req.date);
  const day = date.slice(0, 8);
  const scope = `${day}/${req.region}/${req.service}/aws4_request`;
  const headers: Record<string, string> = { host: req.host };
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  const headerNames = Object.keys(headers).sort();
  const signedHeaders = headerNames.join(";");
  const query: Record<string, string> = {
    ...req.query,
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${req.credentials.accessKeyId}/${scope}`,
    "X-Amz-Date": date,
    "X-Amz-Expires": String(req.expiresSeconds),
    "X-Amz-SignedHeaders": signedHeaders,
  };
  if (req.credentials.sessionToken) query["X-Amz-Security-Token"] = req.credentials.sessionToken;
  // Sorted by encoded name (code point order), as SigV4 requires.
  const canonicalQuery = Object.entries(query).map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join("&");
  const canonicalUri = req.path.split("/").map(uriEncode).join("/") || "/";
  const canonicalHeaders = headerNames.map((h) => `${h}:${headers[h].trim().replace(/\s+/g, " ")}\n`).join("");
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, req.payloadHash ?? EMPTY_SHA256].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, toHex(await digest("SHA-256", utf8(canonicalRequest)))].join("\n");
  const key = await signingKey(req.credentials.secretAccessKey, day, req.region, req.service);
  const signature = toHex(await hmac("SHA-256", key, utf8(stringToSign)));
  return { query: `${canonicalQuery}&X-Amz-Signature=${signature}`, signature, canonicalRequest, stringToSign };
}
