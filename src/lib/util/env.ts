/** A job's environment as steps and the library see it: read-only, never process.env itself. */
export type Env = Readonly<Record<string, string | undefined>>;
