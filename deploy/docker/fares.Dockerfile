# parker-fares container image, made like the collector's (Dockerfile
# here): FROM scratch, nothing pulled, nothing compiled in the image. The
# binary is the one cargo built (release or dev), dynamically linked against
# glibc, so the context also holds exactly the shared libraries `ldd` lists
# for it and the dynamic loader, at their paths (rootfs/).
#
# The build context is a directory made by scripts/service-image-context;
# deploy/docker/README.md has the commands, which
# crates/otelops/tests/service_images.rs runs:
#   ctx="$(scripts/service-image-context parker-fares target/fares-image | tail -n1)"
#   podman build -t parker-fares:0.1.0 "$ctx"   # or: docker build

FROM scratch
# The binary at /parker-fares and its libraries under /lib*, /usr/lib*.
COPY rootfs/ /
# The non-root user the Kubernetes Deployment runs as (uid/gid 65532).
COPY passwd group /etc/
USER 65532:65532
# Inside a container the service must listen on the container's interface;
# the Deployment and the tests set PARKER_LISTEN themselves.
ENV PARKER_LISTEN=0.0.0.0:8081
EXPOSE 8081
ENTRYPOINT ["/parker-fares"]
