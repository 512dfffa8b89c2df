# gapguard's container image: `gapguard serve` on Node.js 26 (the Active LTS line).
#
# Both bases are pinned by digest. No registry is reachable from the machines this was written on,
# so the digests were taken from public Dockerfiles on GitHub that pin the same images (several
# independent repositories agree on each): node:26.10.0-trixie-slim and
# gcr.io/distroless/nodejs26-debian13:nonroot. Check them before a release and when bumping:
#   crane digest node:26.10.0-trixie-slim
#   crane digest gcr.io/distroless/nodejs26-debian13:nonroot
ARG NODE_IMAGE=node:26.10.0-trixie-slim@sha256:ec7758ee051e457b468b32bde57b0879010b325bb9862718e9615225ce4aaae1
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs26-debian13:nonroot@sha256:afc6657a4b662f9cb69ca892b0596e55d6ef81a10e83ee8887b13f602877df89

# Compile the TypeScript with the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only, installed from the same lockfile.
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: no shell, no package manager, user 65532 (distroless "nonroot"). Nothing is written to
# the image at run time; /tmp is the only writable place (an emptyDir in the chart), so the root
# filesystem can be mounted read-only. The files are root's: the server cannot change them.
FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/policy ./policy
COPY --from=build /src/data ./data
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/src/cli/main.js"]
CMD ["serve"]
