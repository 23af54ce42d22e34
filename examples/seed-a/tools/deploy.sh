#!/bin/sh
# deploy ARTIFACT ENVIRONMENT: checks the AWS identity the job passed in by name
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION) and records
# the deployment of ARTIFACT to ENVIRONMENT. AWS_STS_ENDPOINT points the CLI at another
# STS endpoint (a test double); unset, the CLI uses AWS's.
set -eu
artifact=${1:?usage: deploy ARTIFACT ENVIRONMENT}
environment=${2:?usage: deploy ARTIFACT ENVIRONMENT}
[ -f "$artifact" ] || { echo "deploy: $artifact not found" >&2; exit 2; }
: "${AWS_ACCESS_KEY_ID:?deploy: AWS credentials missing (pass AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN by name)}"
identity=$(aws sts get-caller-identity --output text --query Arn ${AWS_STS_ENDPOINT:+--endpoint-url "$AWS_STS_ENDPOINT"})
digest=$(sha256sum "$artifact" | cut -d' ' -f1)
echo "deploy: $artifact (sha256 $digest) to $environment as $identity"
mkdir -p deployments
printf '%s %s %s\n' "$environment" "$digest" "$identity" >> deployments/record.txt
