// Package lambda is cascade's AWS Lambda: the Lambda REST API subset
// (restJson1, 2015-03-31) that aws-sdk-go-v2 and the AWS CLI speak:
// CreateFunction, UpdateFunctionConfiguration, GetFunction, Invoke,
// CreateEventSourceMapping, ListEventSourceMappings, with errors in
// Lambda's shape (x-amzn-ErrorType, a body with Type and message).
//
//	control plane: Create/Update/GetFunction --> DynamoDB "lambda-functions"
//	               (reached by name through the mock DNS: fails while the
//	               regional record is empty)
//	invoke:        Invoke --> token bucket, rate x fleet capacity (0..1, read
//	               from a CapacitySource: the NLB's healthy capacity)
//	               --> built-in handler (echo | fail)
//	pollers:       per mapping, workers compete for a lease record in DynamoDB
//	               "lambda-esm-leases"; the holder polls SQS, invokes, deletes,
//	               and renews the lease (with its checkpoint) every RenewEvery
//
// As-was, a worker whose lease renewal fails exits its poll loop without
// releasing the record (it cannot: DynamoDB is unreachable), and the
// acquire condition (attribute_not_exists(owner) OR owner = :me) has no
// expiry check, so once DynamoDB is back every other worker's acquire is
// refused for ever: the mapping is wedged until the operator's
// POST /admin/pollers/restart releases the record. Fixed, the worker goes
// back to acquiring and the acquire also takes a record whose expiry has
// passed (OR expires < :now), so the mapping recovers within a lease TTL.
package lambda
