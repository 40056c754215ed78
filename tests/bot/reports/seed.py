"""Master data the reporting tests share: two lines, machines, orders in every status, people."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Line, Machine, Material, Operation, Plant, User, WorkOrder


@dataclass
class Seeded:
    line1: int
    line2: int
    op10: int  # WO-001 seq 10 on L1-M1, planned 100
    op20: int  # WO-001 seq 20 on L1-M2, planned 100
    draft_op: int
    closed_op: int
    users: dict[str, int]


PEOPLE = [  # userid, name, roles, line
    ("op1", "张三", ["operator"], 1), ("op2", "李四", ["operator"], 1), ("op_l2", "王五", ["operator"], 2),
    ("lead1", "赵班长", ["team_lead"], 1), ("lead2", "钱班长", ["team_lead"], 2), ("qc1", "孙质检", ["qc"], 1),
    ("admin", "管理员", ["admin"], None),
]


async def seed(sessions: async_sessionmaker[AsyncSession], *, with_users: bool = True) -> Seeded:
    async with sessions.begin() as s:
        plant = Plant(code="P1", name="一厂")
        s.add(plant)
        await s.flush()
        l1, l2 = Line(plant_id=plant.id, code="L1", name="一号线"), Line(plant_id=plant.id, code="L2", name="二号线")
        s.add_all([l1, l2])
        await s.flush()
        m1 = Machine(line_id=l1.id, code="L1-M1", name="一号冲床")
        m2 = Machine(line_id=l1.id, code="L1-M2", name="二号冲床")
        m3 = Machine(line_id=l2.id, code="L2-M1", name="注塑机")
        mat = Material(code="MAT-1", name="支架", unit="件")
        s.add_all([m1, m2, m3, mat])
        await s.flush()
        orders = {}
        for code, line, status in [("WO-001", l1, "released"), ("WO-002", l1, "draft"),
                                   ("WO-003", l1, "closed"), ("WO-010", l2, "released")]:
            orders[code] = WorkOrder(code=code, material_id=mat.id, line_id=line.id, quantity=100, status=status)
        s.add_all(orders.values())
        await s.flush()
        ops = {
            "op10": Operation(work_order_id=orders["WO-001"].id, seq=10, name="冲压", machine_id=m1.id,
                              planned_quantity=100),
            "op20": Operation(work_order_id=orders["WO-001"].id, seq=20, name="折弯", machine_id=m2.id,
                              planned_quantity=100),
            "draft": Operation(work_order_id=orders["WO-002"].id, seq=10, name="冲压", machine_id=m1.id,
                               planned_quantity=50),
            "closed": Operation(work_order_id=orders["WO-003"].id, seq=10, name="冲压", machine_id=m1.id,
                                planned_quantity=50),
            "l2": Operation(work_order_id=orders["WO-010"].id, seq=10, name="注塑", machine_id=m3.id,
                            planned_quantity=500),
        }
        s.add_all(ops.values())
        users: dict[str, int] = {}
        if with_users:
            for userid, name, roles, line in PEOPLE:
                user = User(wecom_userid=userid, name=name, roles=roles,
                            line_id={1: l1.id, 2: l2.id}.get(line or 0))
                s.add(user)
                await s.flush()
                users[userid] = user.id
        await s.flush()
        return Seeded(l1.id, l2.id, ops["op10"].id, ops["op20"].id, ops["draft"].id, ops["closed"].id, users)
