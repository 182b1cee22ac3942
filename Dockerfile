# Pedigree in one image: Node bundles the web UI, Go embeds it in a static
# binary, and distroless runs that binary as a non-root user.
#
#   docker build -t pedigree .
#   docker run -p 127.0.0.1:8080:8080 -v pedigree-data:/data \
#     -e PEDIGREE_ALLOW_UNAUTHENTICATED=1 pedigree          # embedded store in /data
#
# PEDIGREE_ADDR is 0.0.0.0:8080 here, which serve refuses without
# PEDIGREE_ALLOW_UNAUTHENTICATED=1: publish the port on 127.0.0.1 or behind an
# authenticating proxy. docker-compose.yml runs it on Neo4j.

# --- web: the GraphiQL bundle in web/dist, which web/web.go embeds.
FROM node:20.20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- build: a static binary (the SQLite driver is pure Go: no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
RUN CGO_ENABLED=0 go build -trimpath -o /pedigree ./cmd/pedigree
# distroless has no shell to make the data directory with: make it here.
RUN mkdir -p /out/data

# --- runtime: no shell, no package manager; uid 65532 (nonroot).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /pedigree /pedigree
COPY --from=build --chown=65532:65532 /out/ /
ENV PEDIGREE_ADDR=0.0.0.0:8080 \
    PEDIGREE_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/pedigree"]
CMD ["serve"]
