"""The price book in force: the repository's rows, PRICES_PATH's, and the routing providers' own."""
from flask import current_app, jsonify

from api import bp
from api.serializers import price_book


def current_pricing():
    """The app's models.pricing.Pricing: the book in force and the routing providers' prices."""
    return current_app.extensions["pricing"]


@bp.get("/prices")
def prices():
    """The prices every cost figure is computed from, read at request time.
    ---
    get:
      operationId: getPrices
      tags: [dashboard]
      summary: The price book in force
      description: >-
        US dollars per million tokens per model family, each row with the date it takes effect
        (history is priced by the row in force on the request's date). `sources` lists the files
        read: the repository's book, then PRICES_PATH's. `providers` holds the prices routing
        providers declare in the routing config; a model or provider without prices is unpriced,
        never free.
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/PriceBook"}}}}
    """
    return jsonify(price_book(current_pricing()))
