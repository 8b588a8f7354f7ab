"""Fleet-sweep workflow task. Chunk: sweep one chunk of VPCs, reads made once for it. The code lives in the layer."""

from endpoint_guard.lambdas.sweep import make_chunk

lambda_handler = make_chunk()
