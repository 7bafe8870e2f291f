"""The account flows: one module per thing a person (or an operator) does. The REST API, the browser pages,
the admin and the management commands call these functions; each rule about accounts is written once, in
the flow it belongs to, so no entry point can forget it: each flow applies its own rate limits
(accounts.limits), writes its own audit records and announces its own email (accounts.emails); the edges
only translate its errors into a response.

Transactions: a flow that only ever runs on its own opens a durable transaction (its writes and audit
records commit together, or not at all, and never inside somebody else's transaction, which could roll back
a revocation along with an error response); what other flows and the admin's own transactions also call
joins the caller's transaction without a savepoint.

What a change to a user means whoever stores it (a flow, the admin, a shell) is not here but in
accounts.rules, which the model's save applies.

Imports run one way: flows -> models, rules, tokens, emails, login_throttle -> sessions_app -> authcore.
"""
