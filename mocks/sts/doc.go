// Package sts is cascade's AWS Security Token Service: the STS Query API
// subset (GetCallerIdentity, AssumeRole, GetSessionToken) that aws-sdk-go-v2
// and the AWS CLI speak unchanged, around a clock-injected core.
//
//	POST / Action=...&Version=2011-06-15
//	   |
//	   v
//	fleet admission (Core.Admit) <-- Capacity: healthy hosts behind the NLB
//	   |  no healthy host: 503 ServiceUnavailable; over healthy*PerHostPerSecond per AdmitWindow: 400 Throttling
//	   v
//	principal (role ARN / access key) --> Core.Cached (FreshTTL) --miss--> Store: DynamoDB
//	   |                                                                   via the mock DNS
//	   |  store read fails: as-was 500 InternalFailure;
//	   |  fixed serves the cached record up to MaxStale
//	   v
//	Core.AssumeRole / GetSessionToken: credentials (ASIA...) on the incident clock
//
// Two impacts come from those two dependencies, never from a signal that the
// incident is on: while dynamodb.us-east-1.amazonaws.com does not resolve,
// every call that must read a principal fails (real: 23:51-01:19 PDT); while
// the NLB in front of STS's fleet counts fewer healthy hosts, requests beyond
// the remaining capacity are throttled, and with none left they fail (real:
// 08:31-09:59 PDT). See docs/sts-ecs.md.
package sts
