# cascade/toxiproxy: toxiproxy's own server, github.com/Shopify/toxiproxy/v2/cmd/server,
# compiled statically by `cascade images` (CGO_ENABLED=0, -X ...Version=v2.12.0).
# FROM scratch so nothing is ever pulled.
FROM scratch
COPY toxiproxy /toxiproxy
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
