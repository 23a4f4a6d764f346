# garage-init: the garage binary of the server image plus a shell to run
# garage-init.sh. The official Garage image is FROM scratch (only /garage,
# no shell), so the setup steps cannot run in it directly. The binary is
# static, so it runs on busybox. Built by compose.yml with docker/ as the
# context; GARAGE_IMAGE is passed from the same anchor as the `garage`
# service's image so the CLI and the server are always the same version.
ARG GARAGE_IMAGE=dxflrs/garage:v2.1.0
FROM ${GARAGE_IMAGE} AS garage

FROM busybox:1.37.0
COPY --from=garage /garage /usr/local/bin/garage
COPY garage-init.sh /usr/local/bin/garage-init
ENTRYPOINT ["/bin/sh", "/usr/local/bin/garage-init"]
