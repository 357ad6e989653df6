-- +goose Up
ALTER TABLE items ADD COLUMN sku text;
CREATE INDEX items_sku_idx ON items (sku);
COMMENT ON COLUMN items.sku IS 'stock keeping unit';

-- +goose Down
DROP INDEX items_sku_idx;
ALTER TABLE items DROP COLUMN sku;
