"""One reader per serialization format. Readers parse bytes; they never import or load them."""
