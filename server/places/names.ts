/** Place names as typed names are compared with them: the administrative suffix dropped. */

export const VILLAGE_SUFFIX = /(?:社区居民委员会|社区居委会|村民委员会|居民委员会|村委会|居委会|社区|嘎查|村)$/u;
/** the peoples an ethnic township (民族乡) is named after: 芒洪拉祜族布朗族乡, 耿家营彝族苗族乡 */
const PEOPLES =
  '汉|蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|高山|拉祜|水|东乡|纳西|景颇|柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|乌孜别克|俄罗斯|鄂温克|德昂|保安|裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺|各';
export const TOWNSHIP_SUFFIX = new RegExp(`(?:(?:${PEOPLES})族)*(?:民族)?(?:街道办事处|街道|苏木|乡|镇)$`, 'u');

const key = (name: string, suffix: RegExp) => {
  const n = name.normalize('NFKC').replace(/\s/gu, '');
  return n.replace(suffix, '') || n;
};
/** A village's name as typed names are compared with it: 冰岛村 → 冰岛, 公很社区 → 公很, 涂镇村 → 涂镇. */
export const villageKey = (name: string) => key(name, VILLAGE_SUFFIX);
/** A township's: 勐库镇 → 勐库, 巴川街道 → 巴川, 芒洪拉祜族布朗族乡 → 芒洪. */
export const townshipKey = (name: string) => key(name, TOWNSHIP_SUFFIX);
