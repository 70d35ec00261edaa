// Package route53 is cascade's Route53: an authoritative DNS server
// (miekg/dns, UDP and TCP on one port) for the hosted zones, and the subset
// of the Route53 REST API (XML, 2013-04-01) that aws-sdk-go-v2's route53
// client calls: CreateHostedZone, GetHostedZone, ListHostedZones,
// ListHostedZonesByName, ChangeResourceRecordSets, ListResourceRecordSets and
// GetChange.
//
// The store (core.go) is the mechanism: hosted zones indexed by name, change
// batches validated and applied atomically with Route53's rules (an exact
// match for DELETE, CREATE of an existing set fails, UPSERT replaces, CNAME
// beside other types refused, weighted and simple sets not mixed), and DNS
// resolution that follows CNAME chains inside the served zones and picks one
// set of a weighted group at random by weight. In fixed mode the store also
// refuses a batch after which a CNAME or alias leads to a served name with no
// records at all: the state the October 2025 race left
// dynamodb.us-east-1.amazonaws.com in.
//
// Failpoints (prefixed with the instance name): dns-servfail (return(suffix):
// queries under suffix get SERVFAIL; empty: every query), dns-drop (queries
// get no answer), api-error (return(Throttling), return(PriorRequestNotComplete),
// or any other value: 500 InternalError). Events: change-applied,
// change-rejected, zone-created.
package route53
