"""Development-time code that never ships to Lambda: loading the service apps in one process
(the local stack and the tests) and assembling the OpenAPI document from their routes."""
