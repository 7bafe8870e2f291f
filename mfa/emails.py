"""The emails of second factors, sent through the accounts' queue (accounts.emails); templates in
mfa/templates/accounts/emails/."""
from accounts.emails import Change, register_change

register_change("mfa_factor_added", Change("mfa_factor_added"))
register_change("mfa_factor_removed", Change("mfa_factor_removed"))
register_change("mfa_recovery_code_used", Change("mfa_recovery_code_used"))
register_change("mfa_recovery_codes_regenerated", Change("mfa_recovery_codes_regenerated"))
register_change("mfa_reset", Change("mfa_reset"))
