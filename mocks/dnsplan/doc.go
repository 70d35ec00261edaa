// Package dnsplan is the layout of DynamoDB's DNS plans in Route53, shared by
// the DNS Planner, the three DNS Enactors and the harness's operator action
// "restore DNS by hand".
//
// Layout (zone us-east-1.amazonaws.com. unless noted):
//
//	g00000042.ddb-plans.<zone>                 TXT   generation marker, written LAST by the planner
//	<planID>.g00000042.ddb-plans.<zone>        A     weighted, one per load balancer (SetIdentifier = LB name)
//	<endpointID>.claim.g00000042.ddb-plans.<z> TXT   the endpoint is on generation 42 (z = the endpoint's zone)
//	<endpoint name>                            CNAME -> <planID>.g00000042.ddb-plans.us-east-1.amazonaws.com.
//
// Route53 lists record sets with the labels of each name reversed, so every
// record of one generation is contiguous and starts with its marker: the
// newest generation is found with one single-item List per generation, and a
// generation is cleaned up by listing from its marker until the names leave
// its subtree.
//
// An Enactor's per-endpoint apply is one Route53 transaction:
//
//	DELETE endpoint CNAME -> g(M)   (exactly as it is)
//	DELETE claim(endpoint, M)
//	CREATE endpoint CNAME -> g(N)
//	CREATE claim(endpoint, N)
//
// so an endpoint whose generation was cleaned up (plan records and claim
// gone) dangles and every later transaction for it fails with
// InvalidChangeBatch: the inconsistent state of October 2025.
// RestoreEndpoint is the operator's repair.
package dnsplan
