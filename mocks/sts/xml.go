package sts

import (
	"encoding/xml"
	"time"
)

// Version is the STS API version every request names.
const Version = "2011-06-15"

// xmlns is the namespace of every STS response document.
const xmlns = "https://sts.amazonaws.com/doc/2011-06-15/"

type xmlMetadata struct {
	RequestID string `xml:"RequestId"`
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

func xmlCredentialsOf(c Credentials) xmlCredentials {
	return xmlCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Expiration: c.Expiration.UTC().Format(time.RFC3339)}
}

type xmlCallerIdentity struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

type xmlGetCallerIdentityResponse struct {
	XMLName  xml.Name          `xml:"GetCallerIdentityResponse"`
	Xmlns    string            `xml:"xmlns,attr"`
	Result   xmlCallerIdentity `xml:"GetCallerIdentityResult"`
	Metadata xmlMetadata       `xml:"ResponseMetadata"`
}

type xmlAssumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type xmlAssumeRoleResult struct {
	Credentials      xmlCredentials     `xml:"Credentials"`
	AssumedRoleUser  xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize int                `xml:"PackedPolicySize"`
}

type xmlAssumeRoleResponse struct {
	XMLName  xml.Name            `xml:"AssumeRoleResponse"`
	Xmlns    string              `xml:"xmlns,attr"`
	Result   xmlAssumeRoleResult `xml:"AssumeRoleResult"`
	Metadata xmlMetadata         `xml:"ResponseMetadata"`
}

type xmlSessionTokenResult struct {
	Credentials xmlCredentials `xml:"Credentials"`
}

type xmlGetSessionTokenResponse struct {
	XMLName  xml.Name              `xml:"GetSessionTokenResponse"`
	Xmlns    string                `xml:"xmlns,attr"`
	Result   xmlSessionTokenResult `xml:"GetSessionTokenResult"`
	Metadata xmlMetadata           `xml:"ResponseMetadata"`
}

type xmlError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// xmlErrorResponse is STS's error document.
type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

// withRequestID stamps a response document's ResponseMetadata.
func withRequestID(body any, id string) any {
	switch b := body.(type) {
	case *xmlGetCallerIdentityResponse:
		b.Metadata.RequestID = id
	case *xmlAssumeRoleResponse:
		b.Metadata.RequestID = id
	case *xmlGetSessionTokenResponse:
		b.Metadata.RequestID = id
	}
	return body
}
