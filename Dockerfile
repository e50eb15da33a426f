# partflow worker image (used by docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly the lock file's versions. Native packages (snappy, zstd-napi, @node-rs/crc32) ship
# prebuilt binaries.
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save --no-audit --no-fund typescript@5 @types/node@20 @types/cli-progress@3
COPY tsconfig.json tsconfig.prod.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY schemas ./schemas
COPY bin ./bin
RUN npx tsc -p tsconfig.prod.json
USER node
CMD ["node", "dist/src/cli/main.js", "worker"]
