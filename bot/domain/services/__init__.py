"""Services decide: they take a translated request or a clock tick, consult storage and the
matching engine, and return what should happen. Listeners and jobs stay thin around them."""
