/**
 * File names of the embedded stores inside PARLEY_DATA_DIR. In infra, not in the server's
 * composition root, so the CLI tools can name them without loading fastify.
 */
export const EVENTS_FILE = 'events.sqlite'
export const READ_MODELS_FILE = 'read-models.sqlite'
