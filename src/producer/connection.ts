// Moved to src/client/connection.ts; this re-export keeps older imports compiling until they are updated.
export * from "../client/connection.ts";
