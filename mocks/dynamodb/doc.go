// Package dynamodb is cascade's DynamoDB: the DynamoDB JSON 1.0 protocol
// (X-Amz-Target: DynamoDB_20120810.*) over HTTP, in memory, so that
// aws-sdk-go-v2, the AWS CLI and boto3 work against it unchanged.
//
// Core (core.go, items.go, query.go, batch.go, collection.go, legacy.go,
// capacity.go, ttl.go, table_update.go) holds tables and items, secondary
// indexes, conditional writes, transactions, pagination, the legacy
// parameters (rewritten into expressions), consumed capacity and time to
// live: pure, clock injected, not safe for concurrent use. Server (server.go, api.go) is the
// transport: authentication check (any signature is accepted, a missing
// one is refused), operation dispatch, failpoints, error mapping in one
// place (wireErrors), x-amzn-RequestId and x-amz-crc32 headers, metrics, and
// the connection policy (MaxConnAge, IdleTimeout) that makes clients dial,
// and so resolve the endpoint, again.
//
// Expressions are parsed and evaluated by the expr subpackage.
//
// Failpoints: <name>/any and <name>/<Operation> for every operation, e.g.
// "dynamodb/PutItem" = "30%return(ThrottlingException)", "sleep(2s)",
// "return(InternalServerError)", "return(ProvisionedThroughputExceededException)".
//
// Events: "table-created", "throttled" (sampled), "conn-aged-out" (counts),
// "ttl-expired" (items a time-to-live sweep deleted, per table).
package dynamodb
