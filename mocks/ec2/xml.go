package ec2

import "encoding/xml"

// xmlns is the namespace of every EC2 response document.
const xmlns = "http://ec2.amazonaws.com/doc/2016-11-15/"

type xmlState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlPlacement struct {
	AvailabilityZone   string `xml:"availabilityZone"`
	AvailabilityZoneID string `xml:"availabilityZoneId,omitempty"`
	Tenancy            string `xml:"tenancy"`
}

type xmlInstance struct {
	InstanceID       string       `xml:"instanceId"`
	ImageID          string       `xml:"imageId"`
	State            xmlState     `xml:"instanceState"`
	PrivateDNSName   string       `xml:"privateDnsName"`
	KeyName          string       `xml:"keyName,omitempty"`
	AmiLaunchIndex   int          `xml:"amiLaunchIndex"`
	InstanceType     string       `xml:"instanceType"`
	LaunchTime       string       `xml:"launchTime"`
	Placement        xmlPlacement `xml:"placement"`
	PrivateIPAddress string       `xml:"privateIpAddress"`
	Tags             []xmlTag     `xml:"tagSet>item,omitempty"`
}

type xmlRunResponse struct {
	XMLName       xml.Name      `xml:"RunInstancesResponse"`
	Xmlns         string        `xml:"xmlns,attr"`
	RequestID     string        `xml:"requestId"`
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Groups        struct{}      `xml:"groupSet"`
	Instances     []xmlInstance `xml:"instancesSet>item"`
}

type xmlReservation struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Groups        struct{}      `xml:"groupSet"`
	Instances     []xmlInstance `xml:"instancesSet>item"`
}

type xmlDescribeResponse struct {
	XMLName      xml.Name         `xml:"DescribeInstancesResponse"`
	Xmlns        string           `xml:"xmlns,attr"`
	RequestID    string           `xml:"requestId"`
	Reservations []xmlReservation `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

type xmlStateChange struct {
	InstanceID    string   `xml:"instanceId"`
	CurrentState  xmlState `xml:"currentState"`
	PreviousState xmlState `xml:"previousState"`
}

type xmlTerminateResponse struct {
	XMLName   xml.Name         `xml:"TerminateInstancesResponse"`
	Xmlns     string           `xml:"xmlns,attr"`
	RequestID string           `xml:"requestId"`
	Instances []xmlStateChange `xml:"instancesSet>item"`
}

// xmlErrorResponse is EC2's error document.
type xmlErrorResponse struct {
	XMLName xml.Name `xml:"Response"`
	Errors  []struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Errors>Error"`
	RequestID string `xml:"RequestID"`
}

// xmlInstanceOf renders an instance in state st.
func xmlInstanceOf(in *Instance, st string) xmlInstance {
	x := xmlInstance{
		InstanceID: in.ID, ImageID: in.ImageID, State: xmlState{Code: StateCode(st), Name: st},
		KeyName: in.KeyName, AmiLaunchIndex: in.LaunchIndex, InstanceType: in.InstanceType,
		LaunchTime:       in.LaunchTime.UTC().Format("2006-01-02T15:04:05.000Z"),
		Placement:        xmlPlacement{AvailabilityZone: in.Zone, AvailabilityZoneID: in.ZoneID, Tenancy: "default"},
		PrivateIPAddress: in.PrivateIP,
	}
	if st != StateTerminated {
		x.PrivateDNSName = "ip-" + dashed(in.PrivateIP) + ".ec2.internal"
	} else {
		x.PrivateIPAddress = ""
	}
	for _, t := range in.Tags {
		x.Tags = append(x.Tags, xmlTag(t))
	}
	return x
}

func dashed(ip string) string {
	b := []byte(ip)
	for i := range b {
		if b[i] == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}
