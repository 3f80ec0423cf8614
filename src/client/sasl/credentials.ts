/** Validation of username/password options shared by PLAIN and SCRAM (INVALID_CONFIG, never echoing the password). */
import { ClientError } from "../../errors.ts";

export interface UsernamePassword {
  username: string;
  password: string;
}

export function checkCredentials(mechanism: string, options: UsernamePassword | undefined): void {
  if (typeof options !== "object" || options === null) {
    throw new ClientError("INVALID_CONFIG", `Invalid sasl ${mechanism} options: expected { username, password }`);
  }
  if (typeof options.username !== "string" || options.username === "") {
    throw new ClientError("INVALID_CONFIG", `Invalid sasl ${mechanism} username: expected a non-empty string`);
  }
  if (typeof options.password !== "string" || options.password === "") {
    throw new ClientError("INVALID_CONFIG", `Invalid sasl ${mechanism} password: expected a non-empty string`);
  }
}
