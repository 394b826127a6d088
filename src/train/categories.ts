/**
 * Online Retail has no category column; the demo derives one from the product name by keyword so that
 * shoppers can browse and rules can filter. First match wins, so the more specific words come first.
 */
const RULES: ReadonlyArray<readonly [string, RegExp]> = [
  ['Christmas', /\b(CHRISTMAS|XMAS|ADVENT|SANTA|REINDEER|SNOWFLAKE|BAUBLE)\b/],
  ['Jewellery', /\b(NECKLACE|EARRINGS?|BRACELET|RING|BROOCH|HAIR|DIAMANTE|JEWEL\w*)\b/],
  ['Bags', /\b(BAGS?|PURSE|TOTE|SHOPPER|WALLET|CHARLOTTE BAG)\b/],
  ['Cards & wrap', /\b(CARDS?|WRAP|PAPER|ENVELOPES?|NOTEBOOK|STICKERS?|TISSUES?|RIBBONS?|TAGS?|PENCILS?|PENS?|ERASER|JOURNAL)\b/],
  ['Lights & candles', /\b(CANDLES?|T-LIGHTS?|LANTERN|LIGHTS?|LAMP|TEALIGHT|NIGHT LIGHT|CANDLEHOLDER)\b/],
  ['Kitchen & dining', /\b(MUGS?|CUPS?|SAUCERS?|PLATES?|BOWLS?|TEA|TEAPOT|CAKE|CAKESTAND|LUNCH|JAR|BOTTLE|BAKING|CUTLERY|NAPKINS?|APRON|KITCHEN|TRAY|JUG|SPOON|EGG|TIN|TINS|CASES|CUPCAKE|BISCUIT|COFFEE|FOOD|PANTRY|MOULD)\b/],
  ['Toys & kids', /\b(TOYS?|GAME|DOLLY|DOLL|CHILDRENS?|KIDS?|BABY|PLAY|PUZZLE|SKIPPING|JIGSAW|SPACEBOY|DOMINOES|CRAYONS?|BALLOONS?)\b/],
  ['Garden & outdoor', /\b(GARDEN|PLANT|FLOWER POT|WATERING|BIRD|PARASOL|UMBRELLA|PICNIC|HOT WATER BOTTLE)\b/],
  ['Home decor', /\b(SIGN|FRAME|CLOCK|MIRROR|CUSHION|DOORMAT|HOOK|HANGER|HANGING|DOORSTOP|BOX|BOXES|DRAWER|CABINET|WALL|DECORATION|ORNAMENT|VASE|BUNTING|GARLAND|QUILT|THROW|BLANKET|MAGNET|STORAGE|BASKET)\b/],
];

export function categoryOf(title: string): string {
  const upper = title.toUpperCase();
  for (const [category, pattern] of RULES) if (pattern.test(upper)) return category;
  return 'Gifts & other';
}
