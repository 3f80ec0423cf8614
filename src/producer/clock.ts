// Moved to src/client/clock.ts; this re-export keeps older imports compiling until they are updated.
export * from "../client/clock.ts";
