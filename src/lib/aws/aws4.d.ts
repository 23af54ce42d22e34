// Types for the part of `aws4` (https://github.com/mhart/aws4, no dependencies) shipline uses.
declare module 'aws4' {
  export interface Aws4Request {
    host: string;
    path: string;
    method: string;
    service: string;
    region: string;
    headers: Record<string, string | number>;
    body: string;
  }
  export interface Aws4Credentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
  }
  export function sign(request: Aws4Request, credentials: Aws4Credentials): Aws4Request;
}
