-- Encrypted delivery: a partner may register an age X25519 recipient; its
-- exports are then stored and served encrypted to it.
ALTER TABLE partners ADD COLUMN age_recipient TEXT NOT NULL DEFAULT '';
