# cascade/mockaws: the one static binary behind every mock service.
# Built by `cascade images` (make images) from compose/.build/mockaws, which
# it compiles with CGO_ENABLED=0; FROM scratch so nothing is ever pulled.
FROM scratch
COPY mockaws /mockaws
ENTRYPOINT ["/mockaws"]
