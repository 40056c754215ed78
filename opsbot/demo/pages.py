"""Public pages the demo adds to the bot: printable labels, the docs, and small JSON feeds for the phone simulator."""
from __future__ import annotations

import re
from pathlib import Path

import markdown
from aiohttp import web
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.context import Services
from bot.models import Line, Machine, User, WorkOrder, WorkOrderStatus
from bot.qr import Label, QrPayload, make_label, render_label_sheet

DOCS_DIR = Path(__file__).resolve().parent.parent.parent / "docs"
DOC_NAME = re.compile(r"[a-z0-9_-]+")
IMAGE_NAME = re.compile(r"[A-Za-z0-9_.-]+\.(png|jpg|svg)")
CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}


def _services(request: web.Request) -> Services:
    from opsbot.app import SERVICES

    return request.app[SERVICES]


async def plant_labels(session: AsyncSession, services: Services) -> list[tuple[QrPayload, Label]]:
    """One label per operation of each released work order, then one per machine, in code order."""
    signer = services.qr
    if signer is None:
        return []
    orders = (await session.scalars(
        select(WorkOrder).where(WorkOrder.status == WorkOrderStatus.RELEASED)
        .options(selectinload(WorkOrder.operations)).order_by(WorkOrder.code))).all()
    machines = (await session.scalars(select(Machine).order_by(Machine.code))).all()
    result = []
    for order in orders:
        for operation in order.operations:
            payload = QrPayload("op", (order.code, str(operation.seq)))
            result.append((payload, make_label(signer, payload, name=operation.name, templates=services.templates)))
    for machine in machines:
        payload = QrPayload("machine", (machine.code,))
        result.append((payload, make_label(signer, payload, name=machine.name, templates=services.templates)))
    from bot.patrols.labels import patrol_labels  # the checkpoints of the demo's patrols

    result += await patrol_labels(session, signer, services.templates, services.settings.feature("patrols"))
    return result


async def labels_page(request: web.Request) -> web.Response:
    services = _services(request)
    async with services.sessions() as session:
        labels = [label for _, label in await plant_labels(session, services)]
    if not labels:
        html = services.templates.render("demo/no_labels.html.j2", plant=services.settings.plant)
        return web.Response(text=html, content_type="text/html", status=404)
    title = services.templates.render("demo/labels_title.txt.j2", plant=services.settings.plant)
    html = render_label_sheet(labels, title, templates=services.templates)
    return web.Response(text=html, content_type="text/html")


async def labels_json(request: web.Request) -> web.Response:
    services = _services(request)
    async with services.sessions() as session:
        labels = await plant_labels(session, services)
    body = [{"kind": payload.kind, "ids": list(payload.ids), "title": label.title, "lines": list(label.lines),
             "url": label.url} for payload, label in labels]
    return web.json_response(body, headers=CORS)


async def directory_json(request: web.Request) -> web.Response:
    """Who the phone simulator may act as: name, roles (with their Chinese names) and line."""
    services = _services(request)
    async with services.sessions() as session:
        rows = (await session.execute(
            select(User, Line.name).outerjoin(Line, User.line_id == Line.id).order_by(User.id))).all()
    body = [{"userid": user.wecom_userid, "name": user.name, "roles": list(user.roles),
             "roles_text": services.templates.render("demo/roles.txt.j2", roles=list(user.roles)),
             "line": line_name or "", "is_seed": user.is_seed, "active": user.active}
            for user, line_name in rows]
    return web.json_response(body, headers=CORS)


async def docs_page(request: web.Request) -> web.Response:
    """Renders docs/<name>.md (quick start, deployment…) so the landing page can link to them."""
    services = _services(request)
    name = request.match_info.get("name", "quickstart")
    path = DOCS_DIR / f"{name}.md"
    if not DOC_NAME.fullmatch(name) or not path.is_file():
        raise web.HTTPNotFound()
    text = path.read_text(encoding="utf-8")
    body = markdown.markdown(text, extensions=["fenced_code", "tables"])
    body = re.sub(r'href="([a-z0-9_-]+)\.md"', r'href="/docs/\1"', body)
    body = body.replace('src="img/', 'src="/docs/img/')
    docs = sorted(p.stem for p in DOCS_DIR.glob("*.md"))
    html = services.templates.render("demo/doc.html.j2", body=Markup(body), doc_name=name, docs=docs)
    return web.Response(text=html, content_type="text/html")


async def docs_image(request: web.Request) -> web.FileResponse:
    name = request.match_info["file"]
    path = DOCS_DIR / "img" / name
    if not IMAGE_NAME.fullmatch(name) or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path)


def mount_demo_pages(app: web.Application) -> None:
    """Adds the public demo routes to the bot's app before it starts (they need no WeCom identity)."""
    app.router.add_get("/labels", labels_page)
    app.router.add_get("/docs", docs_page)
    app.router.add_get("/docs/img/{file}", docs_image)
    app.router.add_get("/docs/{name}", docs_page)
    app.router.add_get("/demo/api/labels", labels_json)
    app.router.add_get("/demo/api/directory", directory_json)
