"""A throwaway OAuth 2.0 / OpenID Connect provider (django-oauth-toolkit) that the connections tests run in a
process of its own, so the client code under test talks real HTTP to a real authorization server."""
