"""The game itself: use cases for the question bank, lobbies, rounds and scoring, the read
views they share, and their typed requests and responses. Knows nothing of HTTP or Socket.IO;
imports only ``core`` (and plumbing)."""
