"""The referral workflow (R5–R12), in parts that share their ports (`common.WorkflowPorts`):

- `tasks`: what the state machine runs (offer rounds, the safety net, lapses) and the reminders; each answers a `Step`
- `answers`: what agents do (accept, reject, report progress)
- `notices`: every message the workflow sends, with its recipients and values
- `missed`: missed offers and the suspension policy (R9)

Nothing is imported here: each function loads only the parts it uses."""
