// Package embedded is the default backend of harness.Stack: every service
// of the stack started in this process from its real constructor, each on
// its own loopback address and port, and an embedded toxiproxy server
// holding the DynamoDB load balancers and one proxy per internal link.
//
//	            mock DNS (route53, direct: toxiproxy is TCP only)
//	               ^ resolve dynamodb.us-east-1.amazonaws.com
//	clients ------'   --> ddb-lb-a 127.0.1.1:P --.
//	(probes, dwfm,    --> ddb-lb-b 127.0.1.2:P ---+--> dynamodb 127.0.0.1:Q
//	 planner checks)  --> ddb-lb-c 127.0.1.3:P --'
//
//	dnsplanner --dnsplanner__route53--> route53 API
//	dnsenactor-a --dnsenactor-a__route53--> route53 API   (b, c alike)
//	ec2 --ec2__dwfm-a--> dwfm-a, ec2 --ec2__netmgr--> netmgr
//	nlb --nlb__netmgr--> netmgr, nlb --nlb__route53--> route53 API
//
// Every port comes from the kernel and every name carries the stack, so
// several stacks run in one test binary. Importing the package registers the
// backend as "embedded".
package embedded
