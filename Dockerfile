# partflow worker image (used by docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm install --no-save typescript@5
COPY tsconfig.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY schemas ./schemas
COPY bench ./bench
COPY bin ./bin
RUN npx tsc -p tsconfig.json
USER node
CMD ["node", "dist/src/cli/main.js", "worker"]
