import { describe, expect, it } from "vitest";
import { MAX_GROUP_MEMBERS } from "../protocol/api.ts";
import { thrown } from "../test/fixtures/thrown.ts";
import {
  checkAdd,
  checkRemove,
  checkRename,
  type MemberView,
  nextOwner,
  type Role,
  requireMember,
} from "./membership.ts";

const member = (userId: string, role: Role, joinedAt: number): MemberView => ({ userId, role, joinedAt });

/** owner (joined 1), admin (2), admin2 (3), member (4), member2 (5). */
const group: MemberView[] = [
  member("owner", "owner", 1),
  member("admin", "admin", 2),
  member("admin2", "admin", 3),
  member("member", "member", 4),
  member("member2", "member", 5),
];

/** A group of `n` members: the owner plus `n - 1` plain members. */
function groupOf(n: number): MemberView[] {
  return [
    member("owner", "owner", 0),
    ...Array.from({ length: n - 1 }, (_, i) => member(`m${i}`, "member", i + 1)),
  ];
}

describe("requireMember", () => {
  it("returns the member's record", () => {
    expect(requireMember(group, "admin")).toEqual(member("admin", "admin", 2));
  });

  it("throws not_a_member for someone outside the channel", () => {
    expect(thrown(() => requireMember(group, "stranger")).code).toBe("not_a_member");
  });

  it("throws not_a_member for an empty member list", () => {
    expect(thrown(() => requireMember([], "owner")).code).toBe("not_a_member");
  });
});

describe("checkAdd", () => {
  it("lets the owner and an admin add users", () => {
    expect(checkAdd(group, "owner", ["x"])).toEqual(["x"]);
    expect(checkAdd(group, "admin", ["x", "y"])).toEqual(["x", "y"]);
  });

  it("forbids a plain member from adding users", () => {
    expect(thrown(() => checkAdd(group, "member", ["x"])).code).toBe("forbidden");
  });

  it("refuses a non-member with not_a_member", () => {
    expect(thrown(() => checkAdd(group, "stranger", ["x"])).code).toBe("not_a_member");
  });

  it("returns only fresh ids, leaving out current members and duplicates", () => {
    expect(checkAdd(group, "owner", ["x", "member", "x", "owner", "y", "y"])).toEqual(["x", "y"]);
  });

  it("returns nothing when every id is already a member", () => {
    expect(checkAdd(group, "owner", ["member", "admin"])).toEqual([]);
  });

  it("allows growing the group to exactly 100 members", () => {
    expect(MAX_GROUP_MEMBERS).toBe(100);
    expect(checkAdd(groupOf(98), "owner", ["x", "y"])).toEqual(["x", "y"]);
    expect(checkAdd(groupOf(99), "owner", ["x"])).toEqual(["x"]);
  });

  it("refuses with group_full when the fresh ids would pass 100, saying how many more fit", () => {
    const err = thrown(() => checkAdd(groupOf(98), "owner", ["x", "y", "z"]));
    expect(err.code).toBe("group_full");
    expect(err.message).toContain("it has 98");
    expect(err.message).toContain("2 more fit");
  });

  it("refuses any fresh id in a full group, saying 0 more fit", () => {
    const err = thrown(() => checkAdd(groupOf(100), "owner", ["x"]));
    expect(err.code).toBe("group_full");
    expect(err.message).toContain("0 more fit");
  });

  it("does not count duplicates and existing members against the limit", () => {
    expect(checkAdd(groupOf(99), "owner", ["x", "x", "m0", "owner"])).toEqual(["x"]);
    expect(checkAdd(groupOf(100), "owner", ["m0", "m1"])).toEqual([]);
  });
});

describe("checkRemove", () => {
  it("lets anyone remove themselves, whatever their role", () => {
    for (const id of ["owner", "admin", "member"]) {
      expect(() => checkRemove(group, id, id)).not.toThrow();
    }
  });

  it("forbids a plain member from removing someone else", () => {
    expect(thrown(() => checkRemove(group, "member", "member2")).code).toBe("forbidden");
    expect(thrown(() => checkRemove(group, "member", "admin")).code).toBe("forbidden");
  });

  it("forbids an admin from removing the owner", () => {
    expect(thrown(() => checkRemove(group, "admin", "owner")).code).toBe("forbidden");
  });

  it("forbids an admin from removing another admin", () => {
    expect(thrown(() => checkRemove(group, "admin", "admin2")).code).toBe("forbidden");
  });

  it("lets an admin remove a plain member", () => {
    expect(() => checkRemove(group, "admin", "member")).not.toThrow();
  });

  it("lets the owner remove an admin and a plain member", () => {
    expect(() => checkRemove(group, "owner", "admin")).not.toThrow();
    expect(() => checkRemove(group, "owner", "member")).not.toThrow();
  });

  it("refuses a target who is not a member with not_found", () => {
    expect(thrown(() => checkRemove(group, "owner", "stranger")).code).toBe("not_found");
  });

  it("refuses an actor who is not a member with not_a_member", () => {
    expect(thrown(() => checkRemove(group, "stranger", "member")).code).toBe("not_a_member");
  });
});

describe("nextOwner", () => {
  it("picks the longest-standing admin, whatever the list order", () => {
    const members = [
      member("owner", "owner", 1),
      member("late-admin", "admin", 30),
      member("early-member", "member", 2),
      member("early-admin", "admin", 10),
    ];
    expect(nextOwner(members, "owner")).toBe("early-admin");
  });

  it("picks the longest-standing member when there is no admin", () => {
    const members = [member("owner", "owner", 1), member("late", "member", 9), member("early", "member", 3)];
    expect(nextOwner(members, "owner")).toBe("early");
  });

  it("returns undefined when the leaving owner is alone", () => {
    expect(nextOwner([member("owner", "owner", 1)], "owner")).toBeUndefined();
  });

  it("never picks the user who is leaving", () => {
    const members = [member("owner", "owner", 1), member("admin", "admin", 2), member("m", "member", 3)];
    expect(nextOwner(members, "admin")).toBe("owner");
  });

  it("does not reorder the member list it is given", () => {
    const members = [member("owner", "owner", 5), member("b", "member", 9), member("a", "member", 3)];
    const before = members.map((m) => m.userId);
    nextOwner(members, "owner");
    expect(members.map((m) => m.userId)).toEqual(before);
  });
});

describe("checkRename", () => {
  it("lets the owner and an admin rename the group", () => {
    expect(() => checkRename(group, "owner")).not.toThrow();
    expect(() => checkRename(group, "admin")).not.toThrow();
  });

  it("forbids a plain member from renaming the group", () => {
    expect(thrown(() => checkRename(group, "member")).code).toBe("forbidden");
  });

  it("refuses a non-member with not_a_member", () => {
    expect(thrown(() => checkRename(group, "stranger")).code).toBe("not_a_member");
  });
});
