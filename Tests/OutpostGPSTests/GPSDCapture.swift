// What gpsd 3.22 sent, word for word, to a client of `gpsfake -q -1 -c 0.05` replaying
// Data/beidou-bd.log (captured with a plain TCP client). Long lines are wrapped here with `\`
// continuations (`\#` in the raw string), which join them back. gpsd ends each line with CRLF.
//
// Note what gpsd makes of this 2015 log: its times are 1024 weeks later (2034-10-11), gpsd's
// correction for a GPS week rollover it believes happened ("WKRO bug: leap second 18
// inconsistent with 1424850115" in its log), because its built-in leap-second count is newer
// than the date. The first fix comes without a time; later epochs come as two TPVs, the second
// completed by the RMC sentence with course and speed.

/// The whole session: VERSION, DEVICES, WATCH, DEVICE ×2, no-fix TPVs, five fix epochs, SKYs,
/// and the DEVICE closing when the log ended.
let capturedSession = """
  {"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}
  {"class":"DEVICES","devices":[]}
  {"class":"WATCH","enable":true,"json":true,"nmea":false,"raw":0,"scaled":false,"timing":false,\
  "split24":false,"pps":false}
  {"class":"DEVICE","path":"/dev/pts/1","activated":"2026-11-22T08:42:17.691Z"}
  {"class":"DEVICE","path":"/dev/pts/1","driver":"NMEA0183","activated":"2026-11-22T08:42:18.697\
  Z","native":0,"bps":4800,"parity":"N","stopbits":1,"cycle":1.00}
  {"class":"TPV","device":"/dev/pts/1","mode":1}
  {"class":"TPV","device":"/dev/pts/1","mode":1}
  {"class":"TPV","device":"/dev/pts/1","mode":1}
  {"class":"TPV","device":"/dev/pts/1","mode":1}
  {"class":"TPV","device":"/dev/pts/1","mode":1}
  {"class":"TPV","device":"/dev/pts/1","mode":1}
  {"class":"TPV","device":"/dev/pts/1","mode":1}
  {"class":"TPV","device":"/dev/pts/1","mode":1}
  {"class":"TPV","device":"/dev/pts/1","mode":1}
  {"class":"TPV","device":"/dev/pts/1","mode":3,"lat":31.247950000,"lon":121.587438333,"altHAE":\
  165.2000,"altMSL":156.9000,"alt":156.9000,"epv":52.970,"magvar":-6.1,"epd":180.0000,"eps":0.60\
  ,"geoidSep":8.300,"eph":10.590}
  {"class":"SKY","device":"/dev/pts/1","vdop":4.90,"hdop":1.30,"pdop":5.10,"nSat":20,"uSat":2,"s\
  atellites":[{"PRN":25,"el":76.0,"az":102.0,"ss":50.0,"used":true,"gnssid":0,"svid":25},{"PRN":\
  32,"el":29.0,"az":284.0,"ss":47.0,"used":true,"gnssid":0,"svid":32},{"PRN":1,"el":2.0,"az":1.0\
  ,"ss":24.0,"used":false,"gnssid":0,"svid":1},{"PRN":7,"el":0.0,"az":0.0,"ss":23.0,"used":false\
  ,"gnssid":0,"svid":7},{"PRN":8,"el":0.0,"az":0.0,"ss":46.0,"used":false,"gnssid":0,"svid":8},{\
  "PRN":9,"el":19.0,"az":94.0,"ss":0.0,"used":false,"gnssid":0,"svid":9},{"PRN":12,"el":0.0,"az"\
  :0.0,"ss":44.0,"used":false,"gnssid":0,"svid":12},{"PRN":14,"el":68.0,"az":202.0,"ss":49.0,"us\
  ed":false,"gnssid":0,"svid":14},{"PRN":18,"el":13.0,"az":225.0,"ss":27.0,"used":false,"gnssid"\
  :0,"svid":18},{"PRN":20,"el":0.0,"az":0.0,"ss":29.0,"used":false,"gnssid":0,"svid":20},{"PRN":\
  22,"el":16.0,"az":229.0,"ss":37.0,"used":false,"gnssid":0,"svid":22},{"PRN":26,"el":0.0,"az":0\
  .0,"ss":24.0,"used":false,"gnssid":0,"svid":26},{"PRN":28,"el":0.0,"az":0.0,"ss":24.0,"used":f\
  alse,"gnssid":0,"svid":28},{"PRN":29,"el":35.0,"az":80.0,"ss":43.0,"used":false,"gnssid":0,"sv\
  id":29},{"PRN":31,"el":62.0,"az":89.0,"ss":0.0,"used":false,"gnssid":0,"svid":31},{"PRN":15,"e\
  l":42.0,"az":298.0,"ss":0.0,"used":false,"gnssid":0,"svid":15},{"PRN":27,"el":40.0,"az":94.0,"\
  ss":0.0,"used":false,"gnssid":0,"svid":27},{"PRN":30,"el":24.0,"az":225.0,"ss":0.0,"used":fals\
  e,"gnssid":0,"svid":30},{"PRN":23,"el":22.0,"az":310.0,"ss":0.0,"used":false,"gnssid":0,"svid"\
  :23},{"PRN":10,"el":5.0,"az":340.0,"ss":0.0,"used":false,"gnssid":0,"svid":10}]}
  {"class":"SKY","device":"/dev/pts/1","xdop":0.92,"ydop":1.62,"vdop":4.90,"tdop":2.08,"hdop":1.\
  30,"gdop":3.94,"pdop":5.10,"nSat":32,"uSat":5,"satellites":[{"PRN":25,"el":76.0,"az":102.0,"ss\
  ":50.0,"used":true,"gnssid":0,"svid":25},{"PRN":32,"el":29.0,"az":284.0,"ss":47.0,"used":true,\
  "gnssid":0,"svid":32},{"PRN":1,"el":2.0,"az":1.0,"ss":24.0,"used":false,"gnssid":0,"svid":1},{\
  "PRN":7,"el":0.0,"az":0.0,"ss":23.0,"used":false,"gnssid":0,"svid":7},{"PRN":8,"el":0.0,"az":0\
  .0,"ss":46.0,"used":false,"gnssid":0,"svid":8},{"PRN":9,"el":19.0,"az":94.0,"ss":0.0,"used":fa\
  lse,"gnssid":0,"svid":9},{"PRN":12,"el":0.0,"az":0.0,"ss":44.0,"used":false,"gnssid":0,"svid":\
  12},{"PRN":14,"el":68.0,"az":202.0,"ss":49.0,"used":false,"gnssid":0,"svid":14},{"PRN":18,"el"\
  :13.0,"az":225.0,"ss":27.0,"used":false,"gnssid":0,"svid":18},{"PRN":20,"el":0.0,"az":0.0,"ss"\
  :29.0,"used":false,"gnssid":0,"svid":20},{"PRN":22,"el":16.0,"az":229.0,"ss":37.0,"used":false\
  ,"gnssid":0,"svid":22},{"PRN":26,"el":0.0,"az":0.0,"ss":24.0,"used":false,"gnssid":0,"svid":26\
  },{"PRN":28,"el":0.0,"az":0.0,"ss":24.0,"used":false,"gnssid":0,"svid":28},{"PRN":29,"el":35.0\
  ,"az":80.0,"ss":43.0,"used":false,"gnssid":0,"svid":29},{"PRN":31,"el":62.0,"az":89.0,"ss":0.0\
  ,"used":false,"gnssid":0,"svid":31},{"PRN":15,"el":42.0,"az":298.0,"ss":0.0,"used":false,"gnss\
  id":0,"svid":15},{"PRN":27,"el":40.0,"az":94.0,"ss":0.0,"used":false,"gnssid":0,"svid":27},{"P\
  RN":30,"el":24.0,"az":225.0,"ss":0.0,"used":false,"gnssid":0,"svid":30},{"PRN":23,"el":22.0,"a\
  z":310.0,"ss":0.0,"used":false,"gnssid":0,"svid":23},{"PRN":10,"el":5.0,"az":340.0,"ss":0.0,"u\
  sed":false,"gnssid":0,"svid":10},{"PRN":402,"el":33.0,"az":240.0,"ss":35.0,"used":true,"gnssid\
  ":3,"svid":2},{"PRN":403,"el":51.0,"az":201.0,"ss":37.0,"used":true,"gnssid":3,"svid":3},{"PRN\
  ":404,"el":35.0,"az":123.0,"ss":42.0,"used":true,"gnssid":3,"svid":4},{"PRN":401,"el":42.0,"az\
  ":130.0,"ss":45.0,"used":false,"gnssid":3,"svid":1},{"PRN":410,"el":64.0,"az":323.0,"ss":0.0,"\
  used":false,"gnssid":3,"svid":10},{"PRN":407,"el":64.0,"az":320.0,"ss":0.0,"used":false,"gnssi\
  d":3,"svid":7},{"PRN":406,"el":55.0,"az":274.0,"ss":0.0,"used":false,"gnssid":3,"svid":6},{"PR\
  N":414,"el":50.0,"az":284.0,"ss":0.0,"used":false,"gnssid":3,"svid":14},{"PRN":409,"el":44.0,"\
  az":299.0,"ss":0.0,"used":false,"gnssid":3,"svid":9},{"PRN":408,"el":14.0,"az":156.0,"ss":0.0,\
  "used":false,"gnssid":3,"svid":8},{"PRN":405,"el":11.0,"az":258.0,"ss":0.0,"used":false,"gnssi\
  d":3,"svid":5},{"PRN":413,"el":8.0,"az":322.0,"ss":0.0,"used":false,"gnssid":3,"svid":13}]}
  {"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2034-10-11T07:41:56.799Z","ept":0.005,"l\
  at":31.248250000,"lon":121.587403333,"altHAE":199.0000,"altMSL":190.7000,"alt":190.7000,"epx":\
  13.727,"epy":24.275,"epv":58.970,"magvar":-6.1,"speed":33.429,"climb":33.800,"epd":180.0000,"e\
  ps":48.55,"epc":111.94,"geoidSep":8.300,"eph":64.940,"sep":96.900}
  {"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2034-10-11T07:41:56.799Z","ept":0.005,"l\
  at":31.248250000,"lon":121.587403333,"altHAE":199.0000,"altMSL":190.7000,"alt":190.7000,"epx":\
  13.727,"epy":24.275,"epv":58.970,"track":4.9400,"magtrack":358.8480,"magvar":-6.1,"speed":0.13\
  4,"climb":33.800,"epd":180.0000,"eps":48.55,"epc":111.94,"geoidSep":8.300,"eph":64.940,"sep":9\
  6.900}
  {"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2034-10-11T07:41:57.799Z","ept":0.005,"l\
  at":31.248170000,"lon":121.587405000,"altHAE":201.2000,"altMSL":192.9000,"alt":192.9000,"epx":\
  13.727,"epy":24.275,"epv":25.140,"magvar":-6.1,"speed":8.871,"climb":2.200,"epd":61.5000,"eps"\
  :48.55,"epc":84.11,"geoidSep":8.300,"eph":24.650,"sep":39.900}
  {"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2034-10-11T07:41:57.799Z","ept":0.005,"l\
  at":31.248170000,"lon":121.587405000,"altHAE":201.2000,"altMSL":192.9000,"alt":192.9000,"epx":\
  13.727,"epy":24.275,"epv":25.140,"track":4.9400,"magtrack":358.8480,"magvar":-6.1,"speed":0.16\
  5,"climb":2.200,"epd":61.5000,"eps":48.55,"epc":84.11,"geoidSep":8.300,"eph":24.650,"sep":39.9\
  00}
  {"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2034-10-11T07:41:58.799Z","ept":0.005,"l\
  at":31.248255000,"lon":121.587398333,"altHAE":206.8000,"altMSL":198.5000,"alt":198.5000,"epx":\
  13.727,"epy":24.275,"epv":19.350,"magvar":-6.1,"speed":9.446,"climb":5.600,"epd":180.0000,"eps\
  ":48.55,"epc":44.49,"geoidSep":8.300,"eph":19.320,"sep":39.900}
  {"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2034-10-11T07:41:58.799Z","ept":0.005,"l\
  at":31.248255000,"lon":121.587398333,"altHAE":206.8000,"altMSL":198.5000,"alt":198.5000,"epx":\
  13.727,"epy":24.275,"epv":19.350,"track":4.9400,"magtrack":358.8480,"magvar":-6.1,"speed":0.12\
  9,"climb":5.600,"epd":180.0000,"eps":48.55,"epc":44.49,"geoidSep":8.300,"eph":19.320,"sep":39.\
  900}
  {"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2034-10-11T07:41:59.799Z","ept":0.005,"l\
  at":31.248238333,"lon":121.587406667,"altHAE":204.7000,"altMSL":196.4000,"alt":196.4000,"epx":\
  13.727,"epy":24.275,"epv":15.590,"magvar":-6.1,"speed":2.011,"climb":-2.100,"epd":180.0000,"ep\
  s":48.55,"epc":34.94,"geoidSep":8.300,"eph":14.860,"sep":39.900}
  {"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2034-10-11T07:41:59.799Z","ept":0.005,"l\
  at":31.248238333,"lon":121.587406667,"altHAE":204.7000,"altMSL":196.4000,"alt":196.4000,"epx":\
  13.727,"epy":24.275,"epv":15.590,"track":4.9400,"magtrack":358.8480,"magvar":-6.1,"speed":0.11\
  8,"climb":-2.100,"epd":180.0000,"eps":48.55,"epc":34.94,"geoidSep":8.300,"eph":14.860,"sep":39\
  .900}
  {"class":"DEVICE","path":"/dev/pts/1","activated":0}
  """

/// A two-dimensional fix from a run at `-c 0.02`, where gpsd's epochs fell differently.
let capturedMode2TPV = """
  {"class":"TPV","device":"/dev/pts/1","mode":2,"time":"2034-10-11T07:41:55.799Z","ept":0.005,"l\
  at":31.247950000,"lon":121.587438333,"track":4.9400,"magtrack":358.8481,"magvar":-6.1,"speed":\
  0.154}
  """

/// A SKY before the fix: satellites seen, none used, no DOPs yet.
let capturedSkyBeforeFix = """
  {"class":"SKY","device":"/dev/pts/1","nSat":8,"uSat":0,"satellites":[{"PRN":28,"el":0.0,"az":0\
  .0,"ss":24.0,"used":false,"gnssid":0,"svid":28},{"PRN":29,"el":35.0,"az":80.0,"ss":43.0,"used"\
  :false,"gnssid":0,"svid":29},{"PRN":31,"el":62.0,"az":89.0,"ss":0.0,"used":false,"gnssid":0,"s\
  vid":31},{"PRN":15,"el":42.0,"az":298.0,"ss":0.0,"used":false,"gnssid":0,"svid":15},{"PRN":27,\
  "el":40.0,"az":94.0,"ss":0.0,"used":false,"gnssid":0,"svid":27},{"PRN":30,"el":24.0,"az":225.0\
  ,"ss":0.0,"used":false,"gnssid":0,"svid":30},{"PRN":23,"el":22.0,"az":310.0,"ss":0.0,"used":fa\
  lse,"gnssid":0,"svid":23},{"PRN":10,"el":5.0,"az":340.0,"ss":0.0,"used":false,"gnssid":0,"svid\
  ":10}]}
  """

/// A TPV without a fix, once gpsd knows the time (a later pass of a looping replay).
let capturedNoFixTPV = """
  {"class":"TPV","device":"/dev/pts/3","mode":1,"time":"2034-10-11T07:41:51.799Z","ept":0.005}
  """

/// gpsd's answer to the command `?FOO;` followed by a WATCH in the same write.
let capturedError = #"""
  {"class":"ERROR","message":"Unrecognized request '?FOO;\n?WATCH={\"enable\":\#
  true,\"json\":true};\n'"}
  """#

/// gpsd's DEVICES once a device is known.
let capturedDevices = """
  {"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/pts/3"}]}
  """
