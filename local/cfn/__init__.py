"""template.yaml as the one source of truth for local runs and tests.

Reads the SAM template (CloudFormation short tags included, with cfn-lint's loader: `template`), derives the
DynamoDB tables, the functions, their API routes and SQS event sources, and the state-machine definitions from it
(`schema`), resolves
intrinsic functions against the resources created locally (`intrinsics`), and creates a local copy of the stack's
resources (in moto or any endpoint boto3 points at) with every function's environment resolved against them
(`provision`). Functions' SQS event sources are run by local/queues.py.
"""

from local.cfn.intrinsics import LocalResources, function_environments, local_function_names, local_queue_names
from local.cfn.provision import create_local_resources, provision
from local.cfn.schema import (
    EventSpec,
    FunctionSpec,
    QueueSource,
    api_routes,
    dynamodb_tables,
    functions,
    queue_sources,
    state_machine_definition,
    ttl_attributes,
)
from local.cfn.template import (
    DEFAULT_PREFIX,
    LOCAL_ACCOUNT_ID,
    PROJECT_ROOT,
    QUEUE,
    TEMPLATE_PATH,
    TemplateError,
    load_template,
)

__all__ = [
    "DEFAULT_PREFIX",
    "LOCAL_ACCOUNT_ID",
    "PROJECT_ROOT",
    "QUEUE",
    "TEMPLATE_PATH",
    "EventSpec",
    "FunctionSpec",
    "LocalResources",
    "QueueSource",
    "TemplateError",
    "api_routes",
    "create_local_resources",
    "dynamodb_tables",
    "function_environments",
    "functions",
    "load_template",
    "local_function_names",
    "local_queue_names",
    "provision",
    "queue_sources",
    "state_machine_definition",
    "ttl_attributes",
]
