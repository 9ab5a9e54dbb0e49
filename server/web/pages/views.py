"""Linked-data pages: one URL per minted IRI, HTML or RDF; dataset, validation, dumps, search."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    send_from_directory,
)

from server.errors import NotFoundError
from server.vocab import iri_to_path
from server.web.freshness import CACHE_SECONDS, not_modified
from server.web.negotiation import HTML, Offer
from server.web.state import get_state, per_release

from . import deref, lineage, neighbourhood
from .present import Labeller, url_text, view
from .release import DUMPS, dataset_view, dump_record, report_triples, report_view
from .resource import Document, document
from .search import search
from .sections import fill, term_labels
from .terms import node_shapes, ontology_terms

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

#: Search answers in HTML or JSON; ``format=json`` or an Accept naming JSON gets JSON.
SEARCH_OFFERS: Final = (HTML, Offer("application/json", "json", extension="json"))
#: Paths of documents served from whole graphs, with their own templates.
_TEMPLATES: Final = {"/dataset": "dataset.html", "/def": "ontology.html", "/shapes": "shapes.html"}


@bp.get("/dataset")
def dataset() -> Response:
    """Show the dataset: its description, release, dumps and validation report."""
    return _serve("/dataset")


@bp.get("/id/<path:rest>")
@bp.get("/def")
@bp.get("/def.<suffix>")
@bp.get("/def/<path:rest>")
@bp.get("/shapes")
@bp.get("/shapes.<suffix>")
@bp.get("/shapes/<path:rest>")
@bp.get("/dataset.<suffix>")
@bp.get("/dataset/<path:rest>")
@bp.get("/graph/<path:rest>")
def resource(rest: str = "", suffix: str = "") -> Response:
    """Describe a minted IRI in the representation the request asks for."""
    return _serve(request.path)


@bp.get("/validation")
@bp.get("/validation.<suffix>")
def validation(suffix: str = "") -> Response:
    """Publish the SHACL validation report of the served build, as HTML or RDF."""
    state = get_state()
    info = state.backend.info
    target = deref.Target(state.base_iri + "validation", "/validation", suffix or None)
    offer = deref.negotiate(target)
    tag = deref.etag(info, target, offer)
    if not_modified(tag):
        return deref.finish(Response(status=304), target, offer, tag)
    triples = report_triples(info)
    if offer.rdf is None:
        labeller = Labeller({}, state.base_iri, request.script_root)
        body = render_template(
            "validation.html",
            report=report_view(triples, labeller),
            alternates=deref.alternates(target),
        )
        return deref.finish(Response(body), target, offer, tag)
    doc = Document(target.iri, tuple(triples))
    return deref.finish(Response(doc.serialize(offer.rdf)), target, offer, tag)


@bp.get("/dumps/<name>")
def dump(name: str) -> Response:
    """Send one dump file of the served build, with its media type and checksum as ETag."""
    info = get_state().backend.info
    record = dump_record(info, name)
    response = send_from_directory(
        Path(info.path) / DUMPS,
        record["name"],
        # A pre-compressed dump is a gzip file to save, not a coding of the RDF document.
        mimetype=record.get("compress_format") or record["media_type"],
        etag=record["sha256"],
        conditional=True,
        max_age=CACHE_SECONDS,
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Send the site icon, so that browsers asking for it by habit get no 404."""
    return send_from_directory(
        current_app.static_folder or "static",
        "favicon.svg",
        mimetype="image/svg+xml",
        max_age=86400,
    )


@bp.get("/search")
def find() -> Response:
    """Search names, acronyms and other names of partnerships, clusters, sectors, places."""
    state = get_state()
    query = request.args.get("q", "")
    target = deref.Target("", "/search")
    offer = deref.negotiate(target, SEARCH_OFFERS)
    hits = search(state.backend, query, state.base_iri, request.script_root)
    if offer.name == "json":
        response = jsonify(
            {
                "query": query,
                "count": len(hits),
                "total": getattr(hits, "total", len(hits)),
                "page": getattr(hits, "page", 1),
                "results": [h.to_json() for h in hits],
            }
        )
    else:
        body = render_template("search.html", query=query, hits=hits)
        response = Response(body, mimetype="text/html")
    response.vary.add("Accept")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _serve(path: str) -> Response:
    state = get_state()
    backend, base = state.backend, state.base_iri
    target = deref.locate(backend, path, base)
    offer = deref.negotiate(target)
    tag = deref.etag(backend.info, target, offer)
    if not_modified(tag):
        return deref.finish(Response(status=304), target, offer, tag)
    doc = document(backend, target.iri, base)
    g.document = doc  # the page's JSON-LD (pages.cite) describes the same IRI
    if offer.rdf is not None:
        return deref.finish(Response(doc.serialize(offer.rdf)), target, offer, tag)
    return deref.finish(Response(_html(doc, target)), target, offer, tag)


def _html(doc: Document, target: deref.Target) -> str:
    state = get_state()
    backend, base = state.backend, state.base_iri
    labels = per_release("term labels", lambda: term_labels(backend, base))
    labeller = Labeller.for_document(doc, labels, base, request.script_root)
    alternates = deref.alternates(target)
    template = _TEMPLATES.get(target.path)
    if template == "dataset.html":
        try:
            report = report_view(report_triples(backend.info), labeller)
        except NotFoundError:
            report = None
        return render_template(
            template,
            dataset=dataset_view(doc, labeller, backend.info),
            iri=doc.iri,
            alternates=alternates,
            report=report,
        )
    page = view(doc, labeller, target.path)
    if template is not None:
        return render_template(
            template,
            page=page,
            terms=ontology_terms(doc, labeller) if target.path == "/def" else [],
            shapes=node_shapes(doc, labeller) if target.path == "/shapes" else [],
            alternates=alternates,
        )
    lineage.attach(page, doc, backend, labeller)  # before fill: its sources follow the own ones
    fill(page, backend, labeller)
    graph = target.path.startswith("/graph/")
    network = neighbourhood.figure(page, backend, labeller)
    return render_template(
        "page.html", page=page, alternates=alternates, graph=graph, network=network
    )


@bp.app_template_filter("url_text")
def _url_text(url: str) -> str:
    return url_text(url)


@bp.app_template_filter("source_href")
def _source_href(url: str) -> str:
    """Link a source served here (the compilation notes under ``sources/``) to this server."""
    path = iri_to_path(url, get_state().base_iri)
    return request.script_root + path if path is not None else url
