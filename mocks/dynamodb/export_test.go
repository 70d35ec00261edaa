package dynamodb

// DecodeGetItemFast exposes decodeGetItemFast to the external tests.
var DecodeGetItemFast = decodeGetItemFast
