"""DPoP at the token endpoints (login, the second step, a passkey sign-in, refresh): the proof a request carries
is checked here, at the edge that knows its method and URL, and the key it proves travels with the client's details
(ClientInfo.dpop_jkt) into the flows, which bind the session to it (sessions_app/dpop.py)."""
import dataclasses

from authcore.api.answer_headers import add_answer_header
from authcore.requestmeta import ClientInfo, client_info

from .. import dpop


def token_endpoint_client(request) -> ClientInfo:
    """Who is asking, with the key its DPoP proof proves (none without a proof, unless DPoP is required: then 400
    `invalid_dpop_proof`)."""
    client = client_info(request)
    proof = request.headers.get("DPoP")
    if proof is None and not dpop.required():
        return client
    checked = dpop.check_proof(proof, method=request.method, url=dpop.request_uri(request))
    if checked.next_nonce:
        add_answer_header(request, "DPoP-Nonce", checked.next_nonce)
    return dataclasses.replace(client, dpop_jkt=checked.jkt)
