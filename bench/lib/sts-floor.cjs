// The least a process can do for the assume-role OIDC case: one AssumeRoleWithWebIdentity POST
// over node:http to $AWS_ENDPOINT_URL_STS, the credentials cut from the XML and written to a
// dotenv file. No validation, no retries, no errors worded: bench/steps.mjs runs it beside the
// step as the floor a step's happy path cannot go under (node's http stack and the round trip).
const http = require('node:http');
const { writeFileSync } = require('node:fs');
const { URLSearchParams } = require('node:url');

const env = process.env;
const body = new URLSearchParams({
  Action: 'AssumeRoleWithWebIdentity',
  Version: '2011-06-15',
  RoleArn: env.SHIPLINE_INPUT_ROLE_ARN,
  RoleSessionName: `floor-${env.CI_JOB_ID}`,
  WebIdentityToken: env.AWS_ID_TOKEN,
}).toString();
const req = http.request(
  `${env.AWS_ENDPOINT_URL_STS}/`,
  {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
  },
  (res) => {
    let xml = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (xml += c));
    res.on('end', () => {
      const get = (tag) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
      if (res.statusCode !== 200 || !get('AccessKeyId')) process.exit(1);
      writeFileSync(
        `${env.SHIPLINE_RUN_DIR}.env`,
        `AWS_ACCESS_KEY_ID=${get('AccessKeyId')}\nAWS_SECRET_ACCESS_KEY=${get('SecretAccessKey')}\nAWS_SESSION_TOKEN=${get('SessionToken')}\n`,
        { mode: 0o600 },
      );
    });
  },
);
req.end(body);
