# syntax=docker/dockerfile:1
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# distroless: no shell, no package manager; runs as uid 65532 (nonroot).
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production TLS_DIR=/tmp/certs
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY manifests/base/policy.yaml ./manifests/base/policy.yaml
USER 65532:65532
# 8443: the admission webhook; 8444: the backup API (API_PORT)
EXPOSE 8443 8444
ENTRYPOINT ["/nodejs/bin/node", "dist/src/main.js"]
