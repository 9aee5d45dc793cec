"""IAM checked offline: the AWS calls each function makes, recorded while the tests or the local stack run, judged
against the template's policies as `sam deploy` creates them (docs/iam.md)."""
